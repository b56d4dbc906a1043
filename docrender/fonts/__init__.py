"""Fonts"""
