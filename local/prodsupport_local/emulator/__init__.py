"""What AWS does for the functions, on one machine: moto, API Gateway, scheduler, SQS, Lambda's processes, replay."""
