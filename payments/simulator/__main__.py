from payments.simulator.server import main

main()
