"""FIX 4.2/4.4 acceptor (see issue: FIX gateway). Empty until that issue lands."""
