# Hand-written by the platform team: envsync keeps every byte of this file
# except the variables it owns (app_static_env and app_dynamic_env).
desired_count = 2 # two tasks per service

cpu    = 512
memory = 1024
