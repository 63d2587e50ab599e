"""Browser session recorder: real Chromium, the real snippet, scripted visitors on realistic forms (labelled raw sessions)."""
