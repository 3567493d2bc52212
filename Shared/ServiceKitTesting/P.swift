package enum _PServiceKitTesting {}
