"""The offline keystore and everything about participant keys.

types (KeyType), formats (load / export / cocos-cli files), signatures (role signatures),
keystore (the encrypted store, backups), shamir (k-of-n secret sharing).
"""
