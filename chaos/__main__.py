import sys

if sys.argv[1:2] == ["inbox"]:  # `make chaos CHAOS_ARGS=inbox`: the inbox reader SIGKILLed mid-batch
    from chaos.inbox import main as inbox_main

    inbox_main(sys.argv[2:])
else:
    from chaos.run import main

    main()
