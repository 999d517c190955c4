"""Helpers of single studies: 2-D test surfaces and Newton's method."""
