print("chargepile")
