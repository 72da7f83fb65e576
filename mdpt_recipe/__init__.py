"""The behaviour-policy recipe: how this project made the bullet datasets' behaviour policies.

A tool beside the library, not part of what ``mdpt_lib`` users import. It trains one SAC run per
task (``sac``, ``behaviour``) whose snapshots (committed under ``mdpt_lib/assets/behaviour/``)
``mdpt_lib.data.build`` turns into datasets; checks the builds against the published statistics
(``report``); and measures how the mixed buffer's size varies over SAC seeds (``seed_study``). Which
seed was tried when is in the committed results (``results/data/``) and the book's data chapter.

    python -m mdpt_recipe train-behaviour --task all    # hours per task, resumable
    python -m mdpt_recipe stats                         # our datasets beside the published ones
    python -m mdpt_recipe seeds                         # SAC steps each seed needed
"""
