"""Project 2, the framework from scratch: the contract of the student's framework and circle script
(:mod:`.spec`), the circle protocol (:mod:`.protocol`), its figures (:mod:`.plots`) and the
``course run project2`` command (:mod:`.cli`)."""
