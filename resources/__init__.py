"""Data shipped with Prism Desktop: icons, the desktop entry, and the pinned vendor roots of trust."""
