"""photopipe's Lambda deployment unit: S3 uploads in, resized renditions out, rejections notified."""
