from mdpt_lib.exercises.student import main

main()
