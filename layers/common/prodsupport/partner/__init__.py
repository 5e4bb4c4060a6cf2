"""Partners: the directory of teams an incident may need, tagging them, suggesting them, paging them."""
