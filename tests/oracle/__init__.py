"""The pinned npm reference implementation, run with Node.js as a test oracle."""
