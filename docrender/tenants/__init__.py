"""Tenants"""
