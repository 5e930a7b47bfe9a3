"""What the system learns from its own work, always through a person's review.

- `learning.drafts`: knowledge-article drafts from clusters of resolved escalations; an approved
  draft joins the knowledge base the engine answers from.
- `learning.candidates`: training examples from escalations an agent resolved under a known
  intent; accepted ones retrain the intent model, kept only if it does not score worse.

Proposals and the reviewers' decisions (who, when) are kept across warehouse rebuilds in the
learning store (`resolver.learned`, which also gives the engine the approved articles).
"""
