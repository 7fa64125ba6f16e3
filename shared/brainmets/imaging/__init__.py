"""Decoding MRI slices and masks, and the preprocessing every model input goes through."""
