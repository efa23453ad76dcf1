module goaltrajectory.ai/alert-receiver

go 1.24.0
