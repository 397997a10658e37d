from nst_research.benchmark.cli import main

main()
