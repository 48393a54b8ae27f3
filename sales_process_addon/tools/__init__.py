from .text import join_list, parenthesized
