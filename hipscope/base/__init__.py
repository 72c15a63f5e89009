"""The base layer every other layer may import: the error root and the rotation helpers.

It imports nothing of hipscope's own (``docs/DESIGN.md``, "Architecture").
"""
