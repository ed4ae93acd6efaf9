"""应急动员: emergency call-outs of volunteers with given skills in an area."""
