"""Date and time formats of the panel, per language (FORMAT_MODULE_PATH): one unambiguous
form everywhere, day before month, month as a word, 24-hour clock."""
