"""Jobs"""
