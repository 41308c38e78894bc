"""The interactive page: ``kvbound site --out DIR`` writes static files to open in a browser.

Sliders for the schedule, d, eps, eta, b and the logit cap B show d_min, C_min, gamma, tau,
the bound and the real fp16 cache's ratio; the softmax of Bob's query as C grows; Bob's
measured outputs around tau; a student's ``verify --json`` record in plain words. The
closed forms run in the browser (``assets/kvbound.js``, mirrored from :mod:`lowerbound`
and checked against :mod:`kvbound.site.reference`); the rest is precomputed
(:mod:`kvbound.site.data`); :mod:`kvbound.site.build` writes the files.
"""
