"""What the task fields say, in one place: the run configs' field descriptions and the CLI's
--task and --force-task help (this module imports nothing, so the CLI reads it at start-up)."""

FORCE_TASK_HELP = ("Use a principle version made under another task than this run's (refused "
                   "otherwise); the run config records force_task and which version was forced.")
