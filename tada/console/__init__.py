"""The caseworkers' console (issue 16): server-rendered pages under ``/console/``, served by the
API's app (tada/api/app.py mounts it), in English and Traditional Chinese.

- tada/console/web.py: the router and its static files, mounted by ``install_console``;
- tada/console/headers.py: the security headers of every console response (strict CSP, no
  referrer, no framing, no caching of pages);
- tada/console/people.py: who is signed in (the session cookie), the CSRF check of every POST;
- tada/console/templating.py and tada/console/i18n.py: Jinja2 pages, message catalogues
  (tada/console/locale), times in the organisation's zone;
- tada/console/uploads.py: a signed-in person's link import may be bigger than the body cap;
- one module per screen: login.py (signing in and out, a second factor), queue.py ("Needs me"),
  cases.py (the cases list, opening a case), case_page.py (a case: its links, actions on a
  selection, adding links, withdrawing and purging; link_table.py builds its rows and
  case_jobs.py keeps an import's progress), link_page.py (a link's whole story and every action),
  report_page.py (the service report and its downloads).

Accounts and sessions are tada/app/accounts.py and tada/app/console_sessions.py; the actions a
page offers call the same use cases as the CLI and the API. Nothing a page shows renders the
content: URLs are text, never links, images or frames, and no page asks another site for anything.
"""
