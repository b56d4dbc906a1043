"""Monitoring"""
