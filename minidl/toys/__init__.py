"""Helpers of single studies: 2-D test surfaces, 1-D target functions, Newton's method, gradient descent on a point."""
