"""Static files inlined into report.html."""
