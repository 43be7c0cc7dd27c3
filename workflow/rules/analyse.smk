# Stage 4: analyses (best models, parameters to match vANN, efficiency, class selectivity,
# representations). Filled in as the analyses land.
