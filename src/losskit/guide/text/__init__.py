"""The guide's prose, one module per loss family, each with an ``ENTRIES`` mapping from
loss name to :class:`~losskit.guide.entries.GuideEntry`.  A new module here is found
without being listed anywhere."""
