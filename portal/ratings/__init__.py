"""好差评: ratings of the services people got, the rectification of every 差评, and appeals."""
