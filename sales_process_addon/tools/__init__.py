from .defaults import server_field_defaults
from .text import join_list, parenthesized
