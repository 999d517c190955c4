"""mlds"""
