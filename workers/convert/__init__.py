"""Convert"""
