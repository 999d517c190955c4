"""Small utilities the rest of minidl leans on: atomic file writes, progress display, timing."""
