"""Teaching material computed from the library: the eight slide figures of docs/course/.

``kvbound figures --out DIR`` writes them (:mod:`kvbound.course.slides`); the data behind
each figure come from :mod:`kvbound.course.data` (lowerbound/ or a measured run) and are
saved as JSON next to the image, so a test can compare them with the library.
"""
