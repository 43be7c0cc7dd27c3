def plot_related_imp(*a, **k):
    raise NotImplementedError
