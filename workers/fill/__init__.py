"""Fill"""
