"""Templates"""
