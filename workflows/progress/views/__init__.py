"""HTML views of following progress: thin — parse, call one selector or action, render."""
