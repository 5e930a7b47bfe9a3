"""Employee text shown as typed in the markups the product writes to: one module per markup.

`slack`: Slack's mrkdwn (the chat channel and the report's webhook summary both post it).
"""
