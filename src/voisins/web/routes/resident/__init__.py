"""Pages of the resident, one module per page group: a new post in three steps
(``new_post``), my posts and one post (``posts``: what others see of it, and for its
author the answers and the contact once confirmed), changing a post (``post_edit``),
and what the author does with an answer (``answers``: complete, cancel, feedback, a
weekly visit, the end of an arrangement). The messages (inbox) and account pages are
in inbox.py and account.py.

Every page calls the service functions the API calls; a refusal becomes the form again
with messages next to the fields, or an error page — never a JSON body."""
