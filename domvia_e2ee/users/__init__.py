"""Users and their devices: user keys, signed device lists, key backup and sibling sharing.

user_key and device_list sit below the group layer (member entries name device lists); backup and
sharing sit above it (they verify entries against the signed chain). Import the modules directly.
"""
