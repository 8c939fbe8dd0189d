#!/nonexistent/refserver-it-interpreter
This script exists and is executable, but its interpreter does not exist.
