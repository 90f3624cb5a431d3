-- books.sql - the demo's database: a few opening paragraphs of public
-- domain novels, and the table the back end stores its analyses in.
-- Loaded by scripts/demo.sh into the private server's database `books`.

CREATE TABLE books (
    id     int PRIMARY KEY,
    title  text NOT NULL,
    author text NOT NULL,
    isbn   text NOT NULL,
    body   text NOT NULL
);

CREATE TABLE analyses (
    book_id        int PRIMARY KEY REFERENCES books (id),
    words          int NOT NULL,
    distinct_words int NOT NULL,
    top_word       text NOT NULL,
    analysed_at    timestamptz NOT NULL DEFAULT now()
);

INSERT INTO books VALUES
(1, 'Pride and Prejudice', 'Jane Austen', '9780000000011',
 'It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. However little known the feelings or views of such a man may be on his first entering a neighbourhood, this truth is so well fixed in the minds of the surrounding families, that he is considered the rightful property of some one or other of their daughters.'),
(2, 'Emma', 'Jane Austen', '9780000000028',
 'Emma Woodhouse, handsome, clever, and rich, with a comfortable home and happy disposition, seemed to unite some of the best blessings of existence; and had lived nearly twenty-one years in the world with very little to distress or vex her.'),
(3, 'Persuasion', 'Jane Austen', '9780000000035',
 'Sir Walter Elliot, of Kellynch Hall, in Somersetshire, was a man who, for his own amusement, never took up any book but the Baronetage; there he found occupation for an idle hour, and consolation in a distressed one.'),
(4, 'Moby-Dick', 'Herman Melville', '9780000000042',
 'Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse, and nothing particular to interest me on shore, I thought I would sail about a little and see the watery part of the world. It is a way I have of driving off the spleen, and regulating the circulation.'),
(5, 'A Tale of Two Cities', 'Charles Dickens', '9780000000059',
 'It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, it was the season of Darkness, it was the spring of hope, it was the winter of despair.'),
(6, 'Great Expectations', 'Charles Dickens', '9780000000066',
 'My father''s family name being Pirrip, and my Christian name Philip, my infant tongue could make of both names nothing longer or more explicit than Pip. So, I called myself Pip, and came to be called Pip.');
