"""The demo month: a few hundred generated leads played through the real workflows, so a
new user's results page has figures (issue 11, "Demo data"). Nothing is seeded by default:
`make demo-month` does it, on request.

    month.py    which leads arrive and what each customer and salesperson will do (pure)
    dealer.py   the fast dealer: the config's dealer with a plan compressed to minutes
    player.py   plays a month against Temporal, through the workflows' own handlers
"""
