"""Employee text shown as typed in the markups the product writes to, and the engine's
markdown where it is shown: one module per markup.

`slack`: Slack's mrkdwn (the chat channel and the report's webhook summary both post it).
`markdown`: the engine's markdown as plain text (CLI, SMS, plain e-mail), and lists closed
for the renderers that show it (Ask IT).
"""
