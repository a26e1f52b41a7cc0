"""Browser tests: the course opened in JupyterLab in headless Chromium, the way students and instructors use it."""
